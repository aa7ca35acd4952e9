/** Stage `job-state`: job_state record (2) → state record (3), then the job_state key is deleted. */
import { jobStateStage } from '../../shared/index.js';
import { createStageHandler } from '../stage-handler.js';

export const handler = createStageHandler(jobStateStage);
