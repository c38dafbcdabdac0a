/**
 * Parser for `docker image inspect <image>` (a JSON array with one object per image), and the digest thorbench
 * records as the engine's provenance: the registry digest of the image (`<repo>@sha256:…`, what `docker pull
 * <repo>@sha256:…` fetches again) when the image came from a registry, else its local id (`sha256:…`, the
 * digest of its configuration, which a locally built image only has).
 *
 * Docker 24 may print `"RepoDigests": null` (moby/moby#45556); that is read as an empty list.
 *
 * Deterministic: no Node.js APIs.
 */
import { z } from 'zod';
import { firstDockerObject } from './docker-json.js';

export interface ImageFacts {
  /** Content-addressable id of the image's configuration, `sha256:<64 hex>`. */
  id: string;
  repoTags: string[];
  /** `<repository>@sha256:<64 hex>` per registry the image was pulled from. */
  repoDigests: string[];
  /** RFC 3339, or null when the image does not say. */
  created: string | null;
  architecture: string | null;
  os: string | null;
}

const SHA256 = /^sha256:[0-9a-f]{64}$/;

const ImageInspect = z.object({
  Id: z.string().regex(SHA256, 'must be sha256:<64 hex digits>'),
  RepoTags: z.array(z.string()).nullable().default([]),
  RepoDigests: z.array(z.string()).nullable().default([]),
  Created: z.string().optional(),
  Architecture: z.string().optional(),
  Os: z.string().optional(),
});

const SOURCE = 'docker image inspect output';

export function parseDockerImageInspect(json: string): ImageFacts {
  const img = firstDockerObject(ImageInspect, json, SOURCE, 'image');
  return {
    id: img.Id,
    repoTags: img.RepoTags ?? [],
    repoDigests: img.RepoDigests ?? [],
    created: img.Created ?? null,
    architecture: img.Architecture ?? null,
    os: img.Os ?? null,
  };
}

/** The repository part of an image reference: `nvcr.io/nvidia/vllm:25.09-py3` → `nvcr.io/nvidia/vllm`. */
export function imageRepository(ref: string): string {
  const at = ref.indexOf('@');
  const name = at >= 0 ? ref.slice(0, at) : ref;
  const colon = name.lastIndexOf(':');
  // A colon before the last "/" belongs to a registry port (localhost:5000/x), not a tag.
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
}

/** The digest to record for `ref`: its repository's registry digest, else any registry digest, else the local id. */
export function imageDigest(facts: ImageFacts, ref: string): string {
  const repo = imageRepository(ref);
  const pinned = /@(sha256:[0-9a-f]{64})$/.exec(ref);
  if (pinned) return `${repo}@${pinned[1]}`;
  return facts.repoDigests.find((d) => d.startsWith(`${repo}@`)) ?? facts.repoDigests[0] ?? facts.id;
}
