/**
 * The soak's judge is the one history checker of every fault test (test/helpers/history-check.ts),
 * under the names the soak has always used for it.
 */
export {
  checkHistory as checkSoak,
  type FenceWindow,
  type HistoryCheck as SoakCheck,
  passed,
} from '../helpers/history-check.js';
