/** Loading an API answer into a view: data, error, a reload, and polling while it is wanted. */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/**
 * Runs `load` when `key` changes (the view's filters, serialized) and on `reload()`. An answer
 * that arrives after the key changed is dropped, so a slow page never overwrites a newer one.
 * `pollMs`, when set, loads again at that interval while the view is shown.
 */
export function useLoad<T>(load: () => Promise<T>, key: string, pollMs?: number): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  const loader = useRef(load);
  loader.current = load;

  useEffect(() => {
    const call = ++latest.current;
    setState((s) => ({ ...s, loading: true }));
    loader.current().then(
      (data) => {
        if (call === latest.current) setState({ data, error: undefined, loading: false });
      },
      (error: unknown) => {
        if (call === latest.current) setState((s) => ({ data: s.data, error, loading: false }));
      },
    );
  }, [key, tick]);

  useEffect(() => {
    if (pollMs === undefined) return undefined;
    const timer = setInterval(() => setTick((t) => t + 1), pollMs);
    return () => clearInterval(timer);
  }, [pollMs, key]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}
