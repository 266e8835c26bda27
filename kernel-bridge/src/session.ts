// A kernel session: one session id, the signer, and message construction
// (headers, replies that carry their request as parent).
import { randomUUID } from "crypto";

import { Header, JsonObject, Message, PROTOCOL_VERSION, Signer } from "./wire";

export class Session {
  readonly id = randomUUID();
  readonly username = "torchclad";

  constructor(readonly signer: Signer) {}

  header(msgType: string): Header {
    return {
      msg_id: randomUUID(),
      session: this.id,
      username: this.username,
      date: new Date().toISOString(),
      msg_type: msgType,
      version: PROTOCOL_VERSION,
    };
  }

  /**
   * A message in answer to (or caused by) `parent`: its header becomes the
   * parent_header. `identities` is the routing prefix (the request's ROUTER
   * identities for a reply, the topic for iopub).
   */
  message<C>(
    msgType: string,
    content: C,
    parent: Message<unknown> | null,
    identities: Buffer[] = [],
    metadata: JsonObject = {},
  ): Message<C> {
    return {
      identities,
      header: this.header(msgType),
      parent_header: parent ? parent.header : {},
      metadata,
      content,
      buffers: [],
    };
  }
}
