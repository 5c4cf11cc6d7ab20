-- What the footprint worker (streams/footprint) needs beyond 0001: the region whose emission
-- factors apply to an organisation's purchased energy and fuel, per organisation with a per-site
-- override (a site on another grid), and an index for the factor lookup.

-- Region of the emission factors for the organisation's registers, matching emission_factors.region:
-- an ISO 3166 code such as 'BY' or a grid region name. NULL: the organisation has no footprint yet.
ALTER TABLE organisations ADD COLUMN region text CHECK (region <> '');

-- Overrides the organisation's region for the registers of devices at this site. NULL: the organisation's.
ALTER TABLE sites ADD COLUMN region text CHECK (region <> '');

CREATE INDEX emission_factors_lookup ON emission_factors (resource, region, valid_from);
