-- The resolution of a register, so that decode (streams/decode) and consumption (streams/consumption)
-- take one wrap range (core/register-range.ts): a counter of `digits` digits in steps of `resolution`
-- wraps at 10^digits × resolution, and its values, which decode multiplies by `multiplier`, at
-- 10^digits × resolution × multiplier.

ALTER TABLE registers
  ADD COLUMN resolution numeric(30, 12) CHECK (resolution > 0);

COMMENT ON COLUMN registers.resolution IS
  'One step of the register counter in its canonical unit, before the multiplier: 0.001 for m3 counted in litres, 1000 for Wh counted in kWh, 60 for seconds counted in minutes. The counter wraps at 10^digits × resolution, its values (× multiplier) at 10^digits × resolution × multiplier. Decode fills it when it creates a register whose decoder states it exactly (M-Bus integer and BCD records: the VIF scale). NULL: unknown; decode and consumption then estimate it as the smallest decimal step among the register values before the multiplier (1 until a nonzero value was seen).';

COMMENT ON COLUMN registers.multiplier IS
  'Factor decode applies to every value of the register: Reading.value = counter value × multiplier. digits and resolution describe the counter before it.';

COMMENT ON COLUMN registers.digits IS
  'Digits of the register counter, fraction digits included (the odometer, or the BCD width): it wraps after 10^digits steps of its resolution. NULL: unknown, decode and consumption assume 8.';
