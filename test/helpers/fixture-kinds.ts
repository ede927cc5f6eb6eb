// Which fixtures have mixture-of-experts layers (device backends refuse them).
import { FIXTURES } from '../../bench/synth/fixture-specs.js';

const MOE_ARCHITECTURES = ['MixtralForCausalLM', 'Qwen2MoeForCausalLM', 'Qwen3MoeForCausalLM'];

export const MOE_FIXTURES = Object.keys(FIXTURES).filter((name) => MOE_ARCHITECTURES.includes((FIXTURES[name].config.architectures as string[])[0]));
export const DENSE_FIXTURES = Object.keys(FIXTURES).filter((name) => !MOE_FIXTURES.includes(name));
