/**
 * Runs before every test of the workers project. Tests share one isolate per file, so state a
 * fresh isolate would not have is reset here: the log windows (src/log-throttle.ts), so each
 * test sees the first line of its own rejected, forbidden, oversized or unknown-source requests.
 */
import { beforeEach } from "vitest";
import { forgetLogWindows } from "../../src/log-throttle";

beforeEach(() => {
  forgetLogWindows();
});
