// The Hub's tensor names of a sparse (mixture-of-experts) layer, for every module that reads,
// writes, converts or synthesises them. Mixtral spells its block and expert matrices its own way
// (block_sparse_moe, w1/w3/w2); the Qwen MoE models reuse the dense MLP's names under mlp.
export interface MoeTensorNames {
  block: string;
  gate: string;
  up: string;
  down: string;
}

export type ExpertKind = 'gate' | 'up' | 'down';

export const MIXTRAL_MOE_NAMES: MoeTensorNames = { block: 'block_sparse_moe', gate: 'w1', up: 'w3', down: 'w2' };
export const QWEN_MOE_NAMES: MoeTensorNames = { block: 'mlp', gate: 'gate_proj', up: 'up_proj', down: 'down_proj' };

export function moeTensorNames(architecture: string): MoeTensorNames {
  return architecture === 'MixtralForCausalLM' ? MIXTRAL_MOE_NAMES : QWEN_MOE_NAMES;
}

/** The router's name, within a layer (after `model.layers.N.`). */
export const routerName = (n: MoeTensorNames) => `${n.block}.gate.weight`;

/** A routed expert's matrix, within a layer. */
export const expertName = (n: MoeTensorNames, expert: number, kind: ExpertKind) => `${n.block}.experts.${expert}.${n[kind]}.weight`;

/** Qwen2-MoE's shared expert, within a layer. */
export const SHARED_EXPERT_NAMES = {
  gate_proj: 'mlp.shared_expert.gate_proj.weight',
  up_proj: 'mlp.shared_expert.up_proj.weight',
  down_proj: 'mlp.shared_expert.down_proj.weight',
  expert_gate: 'mlp.shared_expert_gate.weight',
} as const;

const EXPERT = new RegExp(`^model\\.layers\\.(\\d+)\\.(?:${MIXTRAL_MOE_NAMES.block}|${QWEN_MOE_NAMES.block})\\.experts\\.(\\d+)\\.(\\w+)\\.weight$`);
const KIND_OF = new Map<string, ExpertKind>(
  [MIXTRAL_MOE_NAMES, QWEN_MOE_NAMES].flatMap((n) => (['gate', 'up', 'down'] as const).map((k): [string, ExpertKind] => [n[k], k])),
);

/** A full tensor name's layer, expert and kind when it is a routed expert's matrix, in either spelling. */
export function parseExpertName(hfName: string): { layer: number; expert: number; kind: ExpertKind } | undefined {
  const m = EXPERT.exec(hfName);
  const kind = m ? KIND_OF.get(m[3]) : undefined;
  return m && kind ? { layer: Number(m[1]), expert: Number(m[2]), kind } : undefined;
}
