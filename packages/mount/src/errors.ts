/** Mounting or unmounting failed, or a mount was described wrongly; `target` is the mount point concerned. */
export class MountError extends Error {
  override readonly name = 'MountError';
  readonly target: string;

  constructor(target: string, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.target = target;
  }
}
