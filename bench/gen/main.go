// Command gen writes N transaction lines in the seed's format,
// "step,MM/dd/yyyy,account,amount,description", for the benchmarks
// (bench/gen-transactions N > FILE).
//
// The lines are those of the seed's non-random producer carried on past its
// 101 steps: step s has account s%4, amount and description s%8, amounts as
// Scala prints a Double (20.0, not 20.00). Only the date differs: the seed's
// delays grow as (s+1)*50 ms, which would put step 10,000,000 thousands of
// years away, so here a virtual clock ticks 10 ms a step from 2024-01-01 UTC.
// The output depends on N alone.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"time"
)

var (
	accounts     = []string{"123-ABC-789", "456-DEF-456", "333-XYZ-999", "987-CBA-321"}
	descriptions = []string{"Drug Store", "Grocery Store", "Electronics", "Park", "Gas", "Books", "Movies", "Misc"}
	amounts      = []string{"10.34", "94.65", "2.49", "306.21", "1073.12", "20.0", "7.92", "4322.33"}
)

const stepMillis = 10

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gen-transactions N > FILE")
		os.Exit(2)
	}
	n, err := strconv.ParseInt(os.Args[1], 10, 64)
	if err != nil || n < 0 {
		fmt.Fprintf(os.Stderr, "gen-transactions: bad count %q (want a whole number, 0 or more)\n", os.Args[1])
		os.Exit(2)
	}
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var date []byte
	day := int64(-1)
	const msPerDay = 24 * 60 * 60 * 1000
	line := make([]byte, 0, 128)
	for s := int64(0); s < n; s++ {
		if d := s * stepMillis / msPerDay; d != day {
			day = d
			date = start.AddDate(0, 0, int(d)).AppendFormat(date[:0], "01/02/2006")
		}
		line = strconv.AppendInt(line[:0], s, 10)
		line = append(line, ',')
		line = append(line, date...)
		line = append(line, ',')
		line = append(line, accounts[s%4]...)
		line = append(line, ',')
		line = append(line, amounts[s%8]...)
		line = append(line, ',')
		line = append(line, descriptions[s%8]...)
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			fmt.Fprintf(os.Stderr, "gen-transactions: %v\n", err)
			os.Exit(1)
		}
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(os.Stderr, "gen-transactions: %v\n", err)
		os.Exit(1)
	}
}
