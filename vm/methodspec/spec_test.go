package methodspec

import (
	"fmt"
	"testing"

	"github.com/batos/batos/object"
)

// The method grammar of a huge object stays small: it names the slots
// the mission names and a bounded number of others.
func TestMethodSpecBoundsSlots(t *testing.T) {
	slots := map[string]object.Value{"color": object.String("blue")}
	for i := range 5000 {
		slots[fmt.Sprintf("fact_%04d", i)] = object.Int(i)
	}
	kept := keepSlots(slots, RelevantNames("remember_color", object.List{object.String("red")}, nil), maxGrammarSlots)
	if len(kept) != maxGrammarSlots || kept["color"] == nil {
		t.Fatalf("kept %d slots (color: %v)", len(kept), kept["color"])
	}
	s := Spec{Selector: "remember_color", Params: []string{"arg0"}, Args: []object.Value{object.String("red")}, Slots: kept, Change: ChangeAlways}
	if n := len(s.Grammar()); n > 1<<20 {
		t.Errorf("grammar of %d bytes", n)
	}
}
