/**
 * Why a file cannot be read, in words, for the messages of the config and the CLI.
 * @module
 */

/**
 * Why a file cannot be read, in words (`no such file or directory`, `permission denied`, `it is a
 * directory`) rather than Node's `ENOENT: no such file or directory, open '…'`; another error's own message.
 */
export function whyUnreadable(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return err instanceof Error ? err.message : String(err);
}

/**
 * A file the config names (`assets.files`, `rules.zones.files`; `what`: "asset CSV") that cannot be read: why, and what to
 * do. The path is the resolved one, so a relative path in the config is shown as it was read.
 */
export function unreadableConfigFile(what: string, file: string, err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  const fix =
    code === 'EACCES' || code === 'EPERM'
      ? 'give the user the service runs as read access to it'
      : code === 'EISDIR'
        ? `name the ${what} itself, not its directory`
        : "fix the path (a relative one is taken from the config file's directory), or remove the entry";
  return `cannot read the ${what} ${file} (${whyUnreadable(err)}): ${fix}`;
}

/**
 * A secret's `NAME_FILE` (`variable`) naming a file that cannot be read: which variable, which
 * file, why, and what to do. The config key that uses it is the problem's key.
 */
export function unreadableSecretFile(variable: string, file: string, err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  const direct = variable.replace(/_FILE$/, '');
  const fix =
    code === 'ENOENT'
      ? `set ${variable} to the path of the file holding the secret (a relative one is taken from the working directory), or set ${direct} to the secret itself instead`
      : code === 'EACCES' || code === 'EPERM'
        ? `give the user this runs as read access to it (a secret readable by the service's user alone: check the config as that user)`
        : code === 'EISDIR'
          ? `set ${variable} to the file holding the secret, not its directory`
          : `set ${variable} to a readable file holding the secret`;
  const why = code === 'ENOENT' ? 'it does not exist' : whyUnreadable(err);
  return `cannot read ${file}, the file ${variable} names (${why}): ${fix}`;
}
