// A loaded model's tensors as f32 rows for the GGUF writer: read from their files a chunk of rows
// at a time and dequantized exactly (float types widened), in transformers' row order.
import { expertName, moeTensorNames, routerName } from '../model/moe-names.js';
import fs from 'node:fs';
import { loadAddon } from '../engine/native.js';
import { storageBytes } from '../model/dtype.js';
import type { LayerTensors, LoadPlan, TensorRef } from '../model/types.js';
import { deinterleaveRows } from './qk-order.js';
import type { ValueSource } from './write-model.js';

type Role = Exclude<keyof LayerTensors, 'experts'>;

/** transformers' name of each role of a decoder layer (Qwen MoE names; Mixtral's in MIXTRAL_NAMES). */
const ROLE_NAMES: Readonly<Record<Role, string>> = {
  input_layernorm: 'input_layernorm.weight',
  q_proj: 'self_attn.q_proj.weight',
  k_proj: 'self_attn.k_proj.weight',
  v_proj: 'self_attn.v_proj.weight',
  o_proj: 'self_attn.o_proj.weight',
  q_bias: 'self_attn.q_proj.bias',
  k_bias: 'self_attn.k_proj.bias',
  v_bias: 'self_attn.v_proj.bias',
  o_bias: 'self_attn.o_proj.bias',
  q_norm: 'self_attn.q_norm.weight',
  k_norm: 'self_attn.k_norm.weight',
  post_attention_layernorm: 'post_attention_layernorm.weight',
  gate_proj: 'mlp.gate_proj.weight',
  up_proj: 'mlp.up_proj.weight',
  down_proj: 'mlp.down_proj.weight',
  gate_bias: 'mlp.gate_proj.bias',
  up_bias: 'mlp.up_proj.bias',
  down_bias: 'mlp.down_proj.bias',
  router: 'mlp.gate.weight',
  shared_gate_proj: 'mlp.shared_expert.gate_proj.weight',
  shared_up_proj: 'mlp.shared_expert.up_proj.weight',
  shared_down_proj: 'mlp.shared_expert.down_proj.weight',
  shared_expert_gate: 'mlp.shared_expert_gate.weight',
};

export function planValueSources(plan: LoadPlan): ValueSource[] {
  const { spec } = plan;
  const moe = moeTensorNames(spec.architecture);
  const sources: ValueSource[] = [tensorSource('model.embed_tokens.weight', plan.embed)];
  plan.layers.forEach((layer, i) => {
    const { experts, ...roles } = layer;
    for (const [role, ref] of Object.entries(roles) as [Role, TensorRef][]) {
      // A GGUF llama file's Q/K rows are interleaved; the writer expects transformers' order.
      const heads = spec.qkRowsInterleaved
        ? role === 'q_proj' || role === 'q_bias' ? spec.numHeads : role === 'k_proj' || role === 'k_bias' ? spec.numKvHeads : 0
        : 0;
      sources.push(tensorSource(`model.layers.${i}.${role === 'router' ? routerName(moe) : ROLE_NAMES[role]}`, ref, heads ? spec.headDim : 0));
    }
    (experts ?? []).forEach((expert, e) => {
      for (const kind of ['gate', 'up', 'down'] as const) {
        sources.push(tensorSource(`model.layers.${i}.${expertName(moe, e, kind)}`, expert[`${kind}_proj`]));
      }
    });
  });
  sources.push(tensorSource('model.norm.weight', plan.finalNorm));
  if (!plan.lmHeadTied) sources.push(tensorSource('lm_head.weight', plan.lmHead));
  return sources;
}

/** `interleavedHead`: the head size whose interleaved rows are put back in order (0: none). */
function tensorSource(hfName: string, ref: TensorRef, interleavedHead = 0): ValueSource {
  return {
    hfName,
    shape: ref.shape,
    produce(rows, emit) {
      const addon = loadAddon();
      const cols = ref.shape.length === 1 ? ref.shape[0] : ref.shape[ref.shape.length - 1];
      const totalRows = ref.shape.length === 1 ? 1 : ref.shape[0];
      const perRows = ref.shape.length === 1 ? 1 : rows;
      const rowBytes = storageBytes(ref.dtype, cols)!;
      const fd = fs.openSync(ref.file, 'r');
      try {
        for (let r = 0; r < totalRows; r += perRows) {
          const n = Math.min(perRows, totalRows - r);
          const raw = Buffer.alloc(n * rowBytes);
          if (fs.readSync(fd, raw, 0, raw.length, ref.offset + r * rowBytes) !== raw.length) {
            throw new Error(`${ref.file}: ${hfName} is truncated`);
          }
          const values = addon.dequantize(ref.dtype, new Uint8Array(raw.buffer, raw.byteOffset, raw.length));
          emit(interleavedHead ? deinterleaveRows(values, interleavedHead, ref.shape.length === 1 ? 1 : cols) : values);
        }
      } finally {
        fs.closeSync(fd);
      }
    },
  };
}
