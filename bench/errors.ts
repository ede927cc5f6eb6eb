/**
 * An error the user can act on: bad input, a missing file, an impossible option.
 * The CLI prints its message (no stack) and exits with `exitCode`.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** A model folder, config or checkpoint that cannot be used as given: bad input, exit 2. */
export class ModelError extends UserError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'ModelError';
  }
}

/** The engine met NaN or Inf in a step's activations or logits: the weights are broken (exit 2). */
export class NonFiniteError extends ModelError {
  constructor(message: string) {
    super(message);
    this.name = 'NonFiniteError';
  }
}
