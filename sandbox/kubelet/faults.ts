/** Faults injected into the simulated cells, shared by every kubelet of the sandbox. */
export class Faults {
  private readonly badImages = new Set<string>();
  private readonly stoppedNodes = new Set<string>();
  private readonly listeners = new Set<() => void>();

  isBadImage = (image: string): boolean => this.badImages.has(image);
  isNodeUp = (node: string): boolean => !this.stoppedNodes.has(node);

  /** An image marked bad never becomes ready (as if it could not be pulled or crashed on start). */
  setImageBad(image: string, bad: boolean): void {
    if (bad) this.badImages.add(image);
    else this.badImages.delete(image);
    this.changed();
  }

  setNodeUp(node: string, up: boolean): void {
    if (up) this.stoppedNodes.delete(node);
    else this.stoppedNodes.add(node);
    this.changed();
  }

  snapshot(): { badImages: string[]; stoppedNodes: string[] } {
    return { badImages: [...this.badImages], stoppedNodes: [...this.stoppedNodes] };
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
