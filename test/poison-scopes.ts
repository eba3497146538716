import { poisonScopes } from '@foldnet/core/testing';

// Every test runs with resultScope's scopes poisoned: a tensor kept past its scope reads NaN, so a leak fails the test that made it.
poisonScopes(true);
