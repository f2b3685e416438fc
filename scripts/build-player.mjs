// After `tsc -p tsconfig.build.json`: bundle the web player's page (dist/player/main.js and what it imports) into
// dist/animate/web/player.bundle.js with esbuild, so that `animgs export-web` of an installed package needs no bundler.
import { writePrebuiltBundle } from '../dist/animate/web/bundle.js';

const path = await writePrebuiltBundle();
console.log(`player bundle: ${path}`);
