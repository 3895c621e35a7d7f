package ops

import "testing"

func TestCount(t *testing.T) {
	got, err := run(t, Count, nil,
		batch(1000), batch(2000, []string{"a", "b\t1"}, []string{"c"}),
		more(batch(3000, []string{"a"}, nil)), more(batch(3000, nil, []string{"b", "c"})), batch(3000, []string{"d"}, nil))
	if want := "1000: 0\n2000: 3\n3000: 4"; err != nil || got != want {
		t.Errorf("got %q, %v, want %q", got, err, want)
	}
}
