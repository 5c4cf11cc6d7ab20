/**
 * Taking a request body in: bounded in size before and while reading, and only JSON. Refusals are
 * {@link BadInputError}s whose reason selects the HTTP status (`BODY_TOO_LARGE` 413,
 * `UNSUPPORTED_MEDIA_TYPE` 415).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BadInputError, TransientError } from '../../core/errors.js';

/**
 * Reads the whole body, refusing one over `limitBytes` without holding more than that: a body
 * whose `Content-Length` announces more is refused before a byte is read, and a chunked one as
 * soon as it crosses the limit (reading stops there). A client that sent `Expect: 100-continue`
 * is invited to send only now, after authentication and the size check.
 *
 * @throws {BadInputError} `BODY_TOO_LARGE`.
 * @throws {TransientError} `REQUEST_ABORTED` when the client goes away before the body ends.
 */
export function readBody(request: IncomingMessage, response: ServerResponse, limitBytes: number): Promise<Buffer> {
  const announced = request.headers['content-length'];
  if (announced !== undefined && Number(announced) > limitBytes) {
    return Promise.reject(tooLarge(limitBytes, `announces ${announced} bytes`, { contentLength: announced }));
  }
  if (request.destroyed) return Promise.reject(aborted());
  if (/100-continue/i.test(request.headers.expect ?? '')) response.writeContinue();

  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = () => {
      request.off('data', onData).off('end', onEnd).off('close', onClose).off('error', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limitBytes) {
        chunks.push(chunk);
        return;
      }
      settle();
      request.pause();
      reject(tooLarge(limitBytes, `has more than ${limitBytes} bytes`, { receivedBytes: String(size) }));
    };
    const onEnd = () => {
      settle();
      resolve(Buffer.concat(chunks, size));
    };
    const onClose = () => {
      settle();
      reject(aborted());
    };
    request.on('data', onData).once('end', onEnd).once('close', onClose).once('error', onClose);
  });
}

function aborted(): TransientError {
  return new TransientError('the client closed the connection before the body ended', { code: 'REQUEST_ABORTED' });
}

function tooLarge(limitBytes: number, what: string, context: Record<string, string>): BadInputError {
  return new BadInputError(`the body ${what}; the limit is ${limitBytes} bytes`, {
    reason: 'BODY_TOO_LARGE',
    context: { ...context, limitBytes: String(limitBytes) },
  });
}

/**
 * Accepts `application/json` in UTF-8 (no charset parameter, or `charset=utf-8`), without a content
 * coding.
 * @throws {BadInputError} `UNSUPPORTED_MEDIA_TYPE` naming what arrived.
 */
export function checkContentType(contentType: string | undefined, contentEncoding: string | undefined): void {
  const [mediaType, ...parameters] = (contentType ?? '').split(';').map((part) => part.trim().toLowerCase());
  const charset = parameters.find((parameter) => parameter.startsWith('charset='))?.slice('charset='.length).replaceAll('"', '');
  if (mediaType !== 'application/json' || (charset !== undefined && charset !== 'utf-8')) {
    const got = contentType === undefined ? 'no Content-Type' : `"${contentType}"`;
    throw unsupported(`Content-Type must be application/json (UTF-8), got ${got}`);
  }
  if (contentEncoding !== undefined && contentEncoding.trim().toLowerCase() !== 'identity') {
    throw unsupported(`Content-Encoding "${contentEncoding}" is not supported; send the body uncompressed`);
  }
}

function unsupported(message: string): BadInputError {
  return new BadInputError(message, { reason: 'UNSUPPORTED_MEDIA_TYPE' });
}
