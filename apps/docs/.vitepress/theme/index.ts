// The default theme plus sculpt's live demos, registered as async components:
// tfjs and the sculpt packages load only in the browser, only on demo pages.

import type { Theme } from 'vitepress';
import DefaultTheme from 'vitepress/theme';
import { defineAsyncComponent } from 'vue';
import './custom.css';

const theme: Theme = {
  extends: DefaultTheme,
  enhanceApp({ app }) {
    app.component(
      'DenoiseDemo',
      defineAsyncComponent(() => import('./components/DenoiseDemo.vue')),
    );
    app.component(
      'SamplersDemo',
      defineAsyncComponent(() => import('./components/SamplersDemo.vue')),
    );
    app.component(
      'GptDemo',
      defineAsyncComponent(() => import('./components/GptDemo.vue')),
    );
    app.component(
      'VaeExplorerDemo',
      defineAsyncComponent(() => import('./components/VaeExplorerDemo.vue')),
    );
    app.component(
      'VaeTrainDemo',
      defineAsyncComponent(() => import('./components/VaeTrainDemo.vue')),
    );
    for (const [name, load] of [
      ['GanConditionalDemo', () => import('./components/GanConditionalDemo.vue')],
      ['GanStyleDemo', () => import('./components/GanStyleDemo.vue')],
      ['CycleGanDemo', () => import('./components/CycleGanDemo.vue')],
      ['LatentPromptDemo', () => import('./components/LatentPromptDemo.vue')],
    ] as const)
      app.component(name, defineAsyncComponent(load));
    app.component(
      'ConformanceTable',
      defineAsyncComponent(() => import('./components/ConformanceTable.vue')),
    );
  },
};

export default theme;
