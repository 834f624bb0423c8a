/** The agent's version, read once from package.json (from src/ under vitest, dist/ and the bundle). */
import { packageVersion } from './package-root.js';

export const AGENT_VERSION: string = packageVersion() ?? '0.0.0-unknown';
