// `synth --list-shapes`: the registry of real models' shapes, as the loader reads each config.
import { parseModelConfig } from '../model/config.js';
import { SYNTH_SCHEMA, type ShapeList } from './report.js';
import { SHAPES } from './shapes.js';

export function shapeList(): ShapeList {
  const shapes = Object.entries(SHAPES).map(([name, s]) => {
    const spec = parseModelConfig(s.config, undefined, name).spec;
    return {
      name,
      hf_repo: s.hfRepo,
      architecture: spec.architecture,
      layers: spec.numLayers,
      hidden: spec.hiddenSize,
      heads: spec.numHeads,
      kv_heads: spec.numKvHeads,
      head_dim: spec.headDim,
      intermediate: spec.intermediateSize,
      vocab: spec.vocabSize,
      tied: spec.tieWordEmbeddings,
      dtype: spec.dtype,
      params: s.params,
    };
  });
  return { schema: SYNTH_SCHEMA, shapes };
}
