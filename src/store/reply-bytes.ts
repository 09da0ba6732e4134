// A JSON reply assembled from text pieces and cached byte pieces with one
// allocation: a refresh answer is mostly snap objects serialized once per
// catalog entry, so copying their bytes beats re-encoding a 10 KB string.

export class ReplyBytes {
  private readonly parts: (string | Buffer)[] = [];
  private length = 0;

  add(part: string | Buffer): this {
    this.parts.push(part);
    this.length += typeof part === 'string' ? Buffer.byteLength(part) : part.length;
    return this;
  }

  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.length);
    let at = 0;
    for (const p of this.parts) at += typeof p === 'string' ? out.write(p, at) : p.copy(out, at);
    return out;
  }
}
