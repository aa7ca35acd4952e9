/** The seed fixture (bridge/demo/seed: the records of the seed document), read once. */
import { loadSeed } from '../../bridge/demo/seed.js';

export const seed = loadSeed();
