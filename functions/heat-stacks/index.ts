/** Stage `heat-stacks`: heat stack record (1) → job_state record (2). */
import { heatStacksStage } from '../../shared/index.js';
import { createStageHandler } from '../stage-handler.js';

export const handler = createStageHandler(heatStacksStage);
