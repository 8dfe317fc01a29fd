/**
 * What the user is told when signing in or up fails, by protocol error code. Pure.
 */
import type { ErrorBody } from '@collab/protocol';

/** A sentence for an auth failure. */
export function describeAuthError(error: ErrorBody): string {
  switch (error.code) {
    case 'BAD_CREDENTIALS':
      return 'Unknown username or wrong password. Try again.';
    case 'USERNAME_TAKEN':
      return 'That username (or e-mail) is taken. Choose another.';
    case 'WEAK_PASSWORD':
      return `The password is too weak: ${error.message}. Try again.`;
    case 'RATE_LIMITED':
      return `Too many attempts; wait ${Math.ceil((error.retryAfterMs ?? 60_000) / 1000)} s and try again.`;
    case 'INVALID_MESSAGE':
      return `${error.message}. Try again.`;
    default:
      return error.message;
  }
}
