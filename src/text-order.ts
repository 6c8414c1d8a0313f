/**
 * Sorting by code unit, as kubectl sorts (Go compares strings byte by byte). localeCompare would
 * start ICU (~5 ms per command) to order Kubernetes names, timestamps and run ids, which are ASCII.
 */
export function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
