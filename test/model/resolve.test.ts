import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hubCacheDir, parseHubRef, resolveModelSource } from '../../bench/model/resolve.js';

/** The folder a Hugging Face model id or path resolves to. */
const resolveModelDir = (id: string, env: NodeJS.ProcessEnv) => resolveModelSource(id, env).dir;
import { useTempDirs } from './fixtures.js';

const tempDir = useTempDirs();
const COMMIT = 'a'.repeat(40);
const OTHER_COMMIT = '0123456789abcdef0123456789abcdef01234567';

/** Lays out a repo in a hub cache folder the way huggingface_hub does. */
function cacheRepo(hub: string, repo: string, refs: Record<string, string>, snapshots: string[]): string {
  const repoDir = path.join(hub, `models--${repo.replace('/', '--')}`);
  for (const [ref, commit] of Object.entries(refs)) {
    fs.mkdirSync(path.dirname(path.join(repoDir, 'refs', ref)), { recursive: true });
    fs.writeFileSync(path.join(repoDir, 'refs', ref), commit);
  }
  for (const commit of snapshots) {
    fs.mkdirSync(path.join(repoDir, 'snapshots', commit), { recursive: true });
    fs.writeFileSync(path.join(repoDir, 'snapshots', commit, 'config.json'), '{}');
  }
  return repoDir;
}

describe('resolveModelSource', () => {
  it('returns the absolute path of an existing folder', () => {
    const dir = tempDir();
    expect(resolveModelDir(path.relative(process.cwd(), dir), {})).toBe(dir);
  });

  it('rejects a file and a path that is neither a folder nor a repo id', () => {
    const file = path.join(tempDir(), 'config.json');
    fs.writeFileSync(file, '{}');
    expect(() => resolveModelDir(file, {})).toThrow(/config\.json is a file but not a GGUF file; expected a model folder, a \.gguf file or a Hub repo id/);
    expect(() => resolveModelDir('./no/such/folder', {})).toThrow(/no such model folder: .*no\/such\/folder/);
    expect(() => resolveModelDir(path.join(tempDir(), 'missing'), {})).toThrow(/no such model folder/);
  });

  it('finds a Hub id through refs/main under HF_HUB_CACHE', () => {
    const hub = tempDir();
    const repoDir = cacheRepo(hub, 'Org/Tiny-Model', { main: `${COMMIT}\n` }, [COMMIT]);
    expect(resolveModelDir('Org/Tiny-Model', { HF_HUB_CACHE: hub })).toBe(path.join(repoDir, 'snapshots', COMMIT));
  });

  it('resolves @revision through refs, or directly as a commit hash', () => {
    const hub = tempDir();
    const repoDir = cacheRepo(hub, 'org/m', { main: COMMIT, 'refs/pr/1': OTHER_COMMIT }, [COMMIT, OTHER_COMMIT]);
    const env = { HF_HUB_CACHE: hub };
    expect(resolveModelDir('org/m@refs/pr/1', env)).toBe(path.join(repoDir, 'snapshots', OTHER_COMMIT));
    expect(resolveModelDir(`org/m@${OTHER_COMMIT}`, env)).toBe(path.join(repoDir, 'snapshots', OTHER_COMMIT));
  });

  it('says where it looked and that it never downloads', () => {
    const hub = tempDir();
    const expected = path.join(hub, 'models--org--absent');
    expect(() => resolveModelDir('org/absent', { HF_HUB_CACHE: hub })).toThrow(
      new RegExp(
        `org/absent is not a folder here and not in the Hugging Face cache \\(looked for ${expected}\\)\\. ` +
          'rabbit-bench never downloads models; fetch it first with `hf download org/absent`',
      ),
    );
  });

  it('reports a revision, snapshot or config.json missing from the cache', () => {
    const hub = tempDir();
    const repoDir = cacheRepo(hub, 'org/m', { main: COMMIT, broken: OTHER_COMMIT }, [COMMIT]);
    const env = { HF_HUB_CACHE: hub };
    expect(() => resolveModelDir('org/m@v2', env)).toThrow(
      new RegExp(`revision 'v2' of org/m is not in the Hugging Face cache \\(looked for ${path.join(repoDir, 'refs', 'v2')}\\).*hf download org/m --revision v2`),
    );
    expect(() => resolveModelDir('org/m@broken', env)).toThrow(
      new RegExp(`names commit ${OTHER_COMMIT}, but ${path.join(repoDir, 'snapshots', OTHER_COMMIT)} does not exist`),
    );
    fs.rmSync(path.join(repoDir, 'snapshots', COMMIT, 'config.json'));
    expect(() => resolveModelDir('org/m', env)).toThrow(/snapshots\/a{40} has no config\.json and no GGUF file — incomplete download/);
  });
});

describe('hubCacheDir', () => {
  it('follows huggingface_hub: HF_HUB_CACHE, then HF_HOME/hub, then XDG_CACHE_HOME, then ~/.cache', () => {
    expect(hubCacheDir({ HF_HUB_CACHE: '/a/hub', HF_HOME: '/b', XDG_CACHE_HOME: '/c', HOME: '/h' })).toBe('/a/hub');
    expect(hubCacheDir({ HF_HOME: '/b', XDG_CACHE_HOME: '/c', HOME: '/h' })).toBe('/b/hub');
    expect(hubCacheDir({ XDG_CACHE_HOME: '/c', HOME: '/h' })).toBe('/c/huggingface/hub');
    expect(hubCacheDir({ HOME: '/h' })).toBe('/h/.cache/huggingface/hub');
    expect(hubCacheDir({ HF_HOME: '~/hf', HOME: '/h' })).toBe('/h/hf/hub');
    expect(hubCacheDir({ HUGGINGFACE_HUB_CACHE: '/legacy', HOME: '/h' })).toBe('/legacy');
  });

  it('is used by resolveModelDir through HF_HOME', () => {
    const home = tempDir();
    const repoDir = cacheRepo(path.join(home, 'hub'), 'org/m', { main: COMMIT }, [COMMIT]);
    expect(resolveModelDir('org/m', { HF_HOME: home })).toBe(path.join(repoDir, 'snapshots', COMMIT));
  });
});

describe('parseHubRef', () => {
  it('accepts ORG/NAME[@REVISION] and rejects anything else', () => {
    expect(parseHubRef('Qwen/Qwen3-0.6B')).toEqual({ repo: 'Qwen/Qwen3-0.6B', revision: undefined });
    expect(parseHubRef('meta-llama/Llama-3.2-1B@main')).toEqual({ repo: 'meta-llama/Llama-3.2-1B', revision: 'main' });
    for (const bad of ['gpt2', 'a/b/c', './x', '../x', 'a--b/c', 'a/b..c', 'a/-b', 'a/b@', '/abs/path']) {
      expect(parseHubRef(bad), bad).toBeUndefined();
    }
  });
});
