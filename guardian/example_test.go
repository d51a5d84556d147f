package guardian_test

import (
	"fmt"

	"github.com/batos/batos/guardian"
)

func ExampleCheck() {
	good := `
def set_name(self, name):
    self.name = name
    self._p_changed = True
`
	fmt.Println(guardian.Check(good, guardian.DefaultPolicy("set_name")))

	bad := `
def set_name(self, name):
    self.name = name
    return self._slots
`
	fmt.Println(guardian.Check(bad, guardian.DefaultPolicy("set_name")))
	// Output:
	// <nil>
	// guardian: 2 findings
	// 	4:5: covenant: return after a change to self without self._p_changed = True
	// 	4:17: forbidden-attr: attribute _slots is forbidden
}
