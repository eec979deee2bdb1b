/** The header's icons, drawn as small SVGs (no icon font to load, crisp in both themes). */
const PATHS: Record<string, string> = {
  newFile: "M9.5 1.5H4a1 1 0 0 0-1 1v11a1 1 0 0 0 1 1h4.5M9.5 1.5 13 5v3M9.5 1.5V5H13M12 10v5M9.5 12.5h5",
  newFolder: "M1.5 3.5a1 1 0 0 1 1-1h3.2l1.5 1.5h6.3a1 1 0 0 1 1 1V8M1.5 3.5v9a1 1 0 0 0 1 1h6M12 10v5M9.5 12.5h5",
  refresh: "M13.5 8A5.5 5.5 0 1 1 11.9 4.1M13.5 1.5v3h-3",
  collapse: "M2.5 2.5h11v11h-11zM5.5 8h5",
};

export function icon(name: keyof typeof PATHS): HTMLSpanElement {
  const span = document.createElement("span");
  span.className = "explorer-icon";
  span.setAttribute("aria-hidden", "true");
  span.innerHTML = `<svg viewBox="0 0 16 16" width="16" height="16" fill="none" stroke="currentColor" stroke-width="1.2" stroke-linecap="round" stroke-linejoin="round"><path d="${PATHS[name]}"/></svg>`;
  return span;
}
