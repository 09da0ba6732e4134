// snapd's error shape for the device API.
import type { ErrorFormatter } from '../platform/http/app.ts';

/** snapd's error shape: {"error-list":[{code,message}]}, Content-Type exactly application/json. */
export const snapdError: ErrorFormatter = (reply, status, code, message) => {
  if (status === 401) reply.header('www-authenticate', 'Macaroon refresh_device_session=1');
  void reply.status(status).header('content-type', 'application/json').send(Buffer.from(JSON.stringify({ 'error-list': [{ code, message }] })));
};
