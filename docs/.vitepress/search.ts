/**
 * Tokenizer for VitePress local search (MiniSearch).
 *
 * VitePress serializes this function with `Function.prototype.toString()` and
 * rebuilds it in the browser with `new Function`, so it must be self-contained:
 * no imports, no closures over module variables, no helpers defined outside it.
 *
 * Chinese has no spaces between words, so the default MiniSearch tokenizer turns
 * a whole Chinese sentence into one token. `Intl.Segmenter` splits it into words
 * ("网络运行时" → "网络", "运行", "时"). English words pass through as they are,
 * and identifiers such as `ERR_IOCRATE_TLS_ALERT` or `tcp-echo` are indexed both
 * whole and split into their parts.
 */
export function tokenize(text: string): string[] {
  const tokens: string[] = []
  const split = /[\s\p{P}\p{S}]+/u
  const pushParts = (word: string) => {
    tokens.push(word)
    const parts = word.split(/[_\-./:]+/).filter(Boolean)
    if (parts.length > 1) for (const part of parts) tokens.push(part)
  }
  const Segmenter = typeof Intl === 'object' ? (Intl as any).Segmenter : undefined
  if (typeof Segmenter !== 'function') {
    for (const word of text.split(split)) if (word) pushParts(word)
    return tokens
  }
  const segmenter = new Segmenter('zh', { granularity: 'word' })
  for (const { segment, isWordLike } of segmenter.segment(text)) {
    if (isWordLike) {
      pushParts(segment)
    } else if (/[\p{L}\p{N}]/u.test(segment)) {
      // Rare: letters the segmenter did not mark word-like (e.g. mixed scripts).
      for (const word of segment.split(split)) if (word) pushParts(word)
    }
  }
  return tokens
}
