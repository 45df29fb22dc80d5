import { services } from '../../../scripts/services.mjs'

export { services }

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
