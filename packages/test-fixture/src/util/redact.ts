/**
 * The URL with its password replaced by `***`, for messages and logs.
 * Strings that are not URLs are returned with any `password=` value masked.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/(password\s*=\s*)[^;\s&]*/gi, '$1***');
  }
}
