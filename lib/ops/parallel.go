package ops

import (
	"sync"
	"sync/atomic"
)

// inParallel calls f(w, i) for i = 0..n-1 on workers goroutines, w being
// the goroutine's number (for per-worker state). The i are taken in order
// and none is started once one has failed, so every i below a failed one
// has run: the lowest failure, which callers report, does not depend on
// how the runs were timed.
func inParallel(workers, n int, f func(w, i int) error) {
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if f(w, i) != nil {
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
}
