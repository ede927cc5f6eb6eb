#pragma once

#include <string>

namespace rb {

// Deliberate mistakes, for tests that prove the parity and validation checks catch them.
// Never on unless asked for; the CLI warns loudly when one is active.
enum class Fault {
  None,
  BooleanMask,   // a 0/1 mask added where an additive -inf mask belongs: future tokens leak in
  UntiedLmHead,  // tied embeddings not applied: the lm_head stays zero, so all logits are zero
  WrongRope,     // RoPE rotates adjacent pairs instead of (i, i + d/2)
  Abort,         // the process aborts in the first forward pass (a native crash)
};

Fault parseFault(const std::string& name);

}  // namespace rb
