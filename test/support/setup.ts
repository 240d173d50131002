/**
 * Runs before every test of the workers project. Tests share one isolate per file, so state a
 * fresh isolate would not have is reset here: the rejection log windows (src/log-throttle.ts),
 * so each test sees the first rejection line of its own requests.
 */
import { beforeEach } from "vitest";
import { forgetRejectionWindows } from "../../src/log-throttle";

beforeEach(() => {
  forgetRejectionWindows();
});
