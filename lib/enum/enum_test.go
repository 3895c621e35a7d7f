package enum

import "testing"

func TestParse(t *testing.T) {
	type color int
	names := []string{"red", "green"}
	if c, err := Parse[color]("color", names, "green"); c != 1 || err != nil {
		t.Errorf("green: got %d, %v", c, err)
	}
	_, err := Parse[color]("color", names, "blue")
	if want := `unknown color "blue" (want one of red, green)`; err == nil || err.Error() != want {
		t.Errorf("blue: got %v, want %s", err, want)
	}
}
