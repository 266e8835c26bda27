// Replay protection: a signed message is accepted once. Every request
// carries a fresh msg_id and date under its HMAC, so a signature seen twice
// is a captured message sent again (from any connection). As ipykernel does,
// the kernel keeps a bounded history of the signatures it accepted; the
// oldest are forgotten first.

export const SIGNATURE_HISTORY_SIZE = 65536;

export class SignatureHistory {
  private readonly seen = new Set<string>();

  constructor(readonly capacity = SIGNATURE_HISTORY_SIZE) {}

  /** Records a signature; false if it was recorded before (a replay). */
  accept(signature: string): boolean {
    if (this.seen.has(signature)) return false;
    this.seen.add(signature);
    if (this.seen.size > this.capacity) {
      const oldest = this.seen.values().next().value as string;
      this.seen.delete(oldest);
    }
    return true;
  }

  get size(): number {
    return this.seen.size;
  }
}
