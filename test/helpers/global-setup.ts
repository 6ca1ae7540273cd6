// Builds the dashboard bundle once so every gateway under test serves the real page.
import { buildDashboard } from '../../scripts/build-dashboard.mjs';
import { DASHBOARD_BUILD } from './gateway.js';

export default async function setup(): Promise<void> {
  await buildDashboard(DASHBOARD_BUILD);
}
