/** The palette's most recently used items, per mode, in localStorage. */
const RECENT = 5;

export function recentKeys(mode: string): string[] {
  try {
    const stored = JSON.parse(localStorage.getItem(`nexus.palette.recent.${mode}`) ?? "[]");
    return Array.isArray(stored) ? stored.filter((k) => typeof k === "string").slice(0, RECENT) : [];
  } catch {
    return [];
  }
}

export function remember(mode: string, key: string): void {
  const keys = [key, ...recentKeys(mode).filter((k) => k !== key)].slice(0, RECENT);
  try {
    localStorage.setItem(`nexus.palette.recent.${mode}`, JSON.stringify(keys));
  } catch {
    // storage full or disabled: recents are a nicety
  }
}
