"""Use cases: each mutation of the contract as one function over the rules and the stores."""
