import DefaultTheme from 'vitepress/theme'
import type { Theme } from 'vitepress'
import BenchTables from './BenchTables.vue'
import ErrorCodes from './ErrorCodes.vue'
import './custom.css'

export default {
  extends: DefaultTheme,
  enhanceApp({ app }) {
    app.component('BenchTables', BenchTables)
    app.component('ErrorCodes', ErrorCodes)
  },
} satisfies Theme
