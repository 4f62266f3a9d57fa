#!/usr/bin/env node
// The `barista` command: loads the TypeScript CLI through tsx (a runtime dependency).
import { tsImport } from 'tsx/esm/api';

await tsImport('./main.ts', import.meta.url);
