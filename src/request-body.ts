/**
 * Reading a request body under the size cap (MAX_BODY_BYTES): a declared `Content-Length` over
 * the limit is refused before reading, and an undeclared (streamed) body is read chunk by chunk
 * and cancelled as soon as it passes the limit, so an oversized body is never buffered whole.
 */

/** Reads the body up to `limit` bytes; stops reading (never buffers the rest) past it. */
export async function readBodyCapped(request: Request, limit: number): Promise<Uint8Array<ArrayBuffer> | "too_large"> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) return "too_large";
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return "too_large";
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
