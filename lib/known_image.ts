/**
 * An image part known by its size, its data URL built only when something
 * reads it. A synthetic image (`random-mm`) is a PNG of a size the workload
 * drew; the simulated engine needs only that size (its vision encoder's token
 * count follows from it) and something that tells images apart (placeholder
 * ids, the encoder cache), so in virtual time no pixels are made and no
 * base64 is built. The part carries both under {@linkcode KNOWN_IMAGE}:
 * readers ask {@linkcode knownImageOf} first; `image_url.url` (and
 * `JSON.stringify`) build the URL on each read, as a live client would send it.
 *
 * @example
 * ```ts
 * const part = new LazyImagePart({ widthPx: 64, heightPx: 32, id: "img-1" }, () => "data:...");
 * knownImageOf(part)?.widthPx; // 64, nothing built
 * part.image_url.url; // "data:..." (built now)
 * ```
 *
 * @module
 */

/** Where an image part of known size keeps its {@linkcode KnownImage}. */
export const KNOWN_IMAGE: unique symbol = Symbol("known image");

/** What is known of an image without its bytes. */
export interface KnownImage {
  widthPx: number;
  heightPx: number;
  /** Tells this image apart from others (the same id: the same image). */
  id: string;
}

/** An OpenAI `image_url` part whose URL is built on each read (and not kept). */
export class LazyImagePart {
  /** URLs built so far in this process (tests check that virtual time builds none). */
  static built = 0;
  readonly type = "image_url" as const;
  readonly [KNOWN_IMAGE]: KnownImage;
  readonly #build: () => string;

  /** @param build makes the data URL of exactly this image */
  constructor(known: KnownImage, build: () => string) {
    this[KNOWN_IMAGE] = known;
    this.#build = build;
  }

  /** The part's URL, built now. */
  get image_url(): { url: string } {
    LazyImagePart.built++;
    return { url: this.#build() };
  }

  toJSON(): { type: "image_url"; image_url: { url: string } } {
    return { type: this.type, image_url: this.image_url };
  }
}

/** The {@linkcode KnownImage} of an image part, if it carries one (nothing is built). */
export function knownImageOf(part: unknown): KnownImage | undefined {
  if (typeof part !== "object" || part === null) return undefined;
  return (part as { [KNOWN_IMAGE]?: KnownImage })[KNOWN_IMAGE];
}
