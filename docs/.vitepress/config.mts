import { defineConfig, type DefaultTheme } from 'vitepress'
import { tokenize } from './search'

const repo = 'https://github.com/iocrate/iocrate'

function guideSidebar(prefix: string, zh: boolean): DefaultTheme.SidebarItem[] {
  return [
    {
      text: zh ? '指南' : 'Guide',
      items: [
        { text: zh ? '快速上手' : 'Getting started', link: `${prefix}/guide/getting-started` },
        { text: zh ? '架构' : 'Architecture', link: `${prefix}/guide/architecture` },
        { text: zh ? '测试服务' : 'Test services', link: `${prefix}/guide/services` },
      ],
    },
    {
      text: zh ? '模块' : 'Modules',
      items: [
        { text: '@iocrate/net', link: `${prefix}/modules/net` },
        { text: '@iocrate/datagram', link: `${prefix}/modules/datagram` },
        { text: '@iocrate/tls', link: `${prefix}/modules/tls` },
        { text: '@iocrate/http', link: `${prefix}/modules/http` },
        { text: '@iocrate/https', link: `${prefix}/modules/https` },
        { text: zh ? 'HTTP 安全' : 'HTTP security', link: `${prefix}/modules/http-security` },
        { text: '@iocrate/websocket', link: `${prefix}/modules/websocket` },
        { text: '@iocrate/redis', link: `${prefix}/modules/redis` },
        { text: '@iocrate/postgres', link: `${prefix}/modules/postgres` },
      ],
    },
    {
      text: zh ? '参考' : 'Reference',
      items: [
        { text: zh ? '错误码' : 'Error codes', link: `${prefix}/errors` },
        { text: zh ? 'API 参考' : 'API reference', link: `${prefix}/api-reference` },
        { text: zh ? '基准测试' : 'Benchmarks', link: `${prefix}/benchmarks` },
        { text: zh ? '已知问题' : 'Known problems', link: `${prefix}/known-problems` },
        { text: zh ? '模糊测试' : 'Fuzzing', link: `${prefix}/fuzzing` },
      ],
    },
  ]
}

function nav(prefix: string, zh: boolean): DefaultTheme.NavItem[] {
  return [
    { text: zh ? '指南' : 'Guide', link: `${prefix}/guide/getting-started`, activeMatch: `^${prefix}/guide/` },
    { text: zh ? '模块' : 'Modules', link: `${prefix}/modules/net`, activeMatch: `^${prefix}/modules/` },
    { text: zh ? '错误码' : 'Errors', link: `${prefix}/errors` },
    { text: zh ? '基准测试' : 'Benchmarks', link: `${prefix}/benchmarks` },
    // The API reference is generated from the TypeScript sources in English only;
    // both locales link to the same pages.
    { text: 'API', link: '/api/' },
  ]
}

export default defineConfig({
  // GitHub Pages serves the site under /<repo>/; docs.yml sets DOCS_BASE for that build.
  base: process.env.DOCS_BASE || '/',
  title: 'iocrate',
  description: 'A native-accelerated network runtime for Node.js and TypeScript',
  cleanUrls: false,
  lastUpdated: false,
  srcExclude: ['test/**', 'README.md'],
  ignoreDeadLinks: [
    // TypeDoc output is generated at build time; links inside it are TypeDoc's business.
    /^\/api\//,
    /^\.\.?\/.*/,
  ],
  head: [['meta', { name: 'theme-color', content: '#2f6f5e' }]],
  markdown: {
    config(md) {
      // TypeDoc copies doc comments verbatim; a `{{ x }}` in a comment must not become
      // a Vue interpolation. Render the generated API pages as static HTML.
      const render = md.render.bind(md)
      md.render = (src, env) => {
        const html = render(src, env)
        const page: string = env?.relativePath ?? ''
        return page.startsWith('api/') ? `<div v-pre>${html}</div>` : html
      }
    },
  },
  locales: {
    root: {
      label: 'English',
      lang: 'en-US',
      themeConfig: {
        nav: nav('', false),
        sidebar: { '/': guideSidebar('', false) },
      },
    },
    zh: {
      label: '简体中文',
      lang: 'zh-CN',
      title: 'iocrate',
      description: '为 Node.js 与 TypeScript 打造的原生加速网络运行时',
      themeConfig: {
        nav: nav('/zh', true),
        sidebar: { '/zh/': guideSidebar('/zh', true) },
        outline: { label: '本页目录' },
        docFooter: { prev: '上一页', next: '下一页' },
        darkModeSwitchLabel: '外观',
        lightModeSwitchTitle: '切换到浅色模式',
        darkModeSwitchTitle: '切换到深色模式',
        sidebarMenuLabel: '菜单',
        returnToTopLabel: '回到顶部',
        langMenuLabel: '切换语言',
        notFound: {
          title: '页面不存在',
          quote: '这个地址上什么也没有。',
          linkLabel: '回到首页',
          linkText: '回到首页',
        },
      },
    },
  },
  themeConfig: {
    socialLinks: [{ icon: 'github', link: repo }],
    footer: {
      message: 'Released under the MIT License.',
      copyright: 'Copyright (c) 2026 the iocrate authors',
    },
    search: {
      provider: 'local',
      options: {
        miniSearch: {
          // Both functions are serialized into the client bundle (see search.ts).
          options: { tokenize },
          searchOptions: { tokenize, prefix: true, fuzzy: 0.2 },
        },
        locales: {
          zh: {
            translations: {
              button: { buttonText: '搜索文档', buttonAriaLabel: '搜索文档' },
              modal: {
                displayDetails: '显示详细列表',
                resetButtonTitle: '清除查询',
                backButtonTitle: '关闭搜索',
                noResultsText: '没有找到结果',
                footer: {
                  selectText: '选择',
                  selectKeyAriaLabel: '回车',
                  navigateText: '切换',
                  navigateUpKeyAriaLabel: '上箭头',
                  navigateDownKeyAriaLabel: '下箭头',
                  closeText: '关闭',
                  closeKeyAriaLabel: 'Esc',
                },
              },
            },
          },
        },
      },
    },
  },
})
