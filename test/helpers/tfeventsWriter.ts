import { PbfWriter } from 'pbf';
import { maskedCrc32c } from '../../src/core/metrics/crc32c';

/** Writes TensorBoard event records the way tensorboard's EventFileWriter does, for tests and benchmarks. */

export interface TensorSpec {
  dtype: number;
  floatVal?: number[];
  doubleVal?: number[];
  content?: Uint8Array;
  stringVal?: string[];
}

export interface ValueSpec {
  tag: string;
  simpleValue?: number;
  plugin?: string;
  pluginContent?: Uint8Array;
  tensor?: TensorSpec;
}

export function encodeEvent(wallTime: number, step: number, values: ValueSpec[] = [], fileVersion?: string): Uint8Array {
  const pbf = new PbfWriter();
  pbf.writeDoubleField(1, wallTime);
  if (step) pbf.writeVarintField(2, step);
  if (fileVersion) pbf.writeStringField(3, fileVersion);
  if (values.length) {
    pbf.writeMessage(
      5,
      (vals: ValueSpec[], w: PbfWriter) => {
        for (const value of vals) {
          w.writeMessage(
            1,
            (v: ValueSpec, ww: PbfWriter) => {
              ww.writeStringField(1, v.tag);
              if (v.plugin) {
                ww.writeMessage(
                  9,
                  (meta: ValueSpec, mw: PbfWriter) =>
                    mw.writeMessage(
                      1,
                      (m: ValueSpec, pw: PbfWriter) => {
                        pw.writeStringField(1, m.plugin!);
                        if (m.pluginContent) pw.writeBytesField(2, m.pluginContent);
                      },
                      meta,
                    ),
                  v,
                );
              }
              if (v.simpleValue !== undefined) ww.writeFloatField(2, v.simpleValue);
              if (v.tensor) {
                ww.writeMessage(
                  8,
                  (t: TensorSpec, tw: PbfWriter) => {
                    tw.writeVarintField(1, t.dtype);
                    if (t.content) tw.writeBytesField(4, t.content);
                    if (t.floatVal) tw.writePackedFloat(5, t.floatVal);
                    if (t.doubleVal) tw.writePackedDouble(6, t.doubleVal);
                    for (const s of t.stringVal ?? []) tw.writeBytesField(8, new TextEncoder().encode(s));
                  },
                  v.tensor,
                );
              }
            },
            value,
          );
        }
      },
      values,
    );
  }
  return pbf.finish();
}

/** TFRecord framing: length, masked CRC of the length, data, masked CRC of the data. */
export function frameRecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length + 4);
  out.writeUInt32LE(data.length, 0);
  out.writeUInt32LE(0, 4);
  out.writeUInt32LE(maskedCrc32c(out, 0, 8), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc32c(data, 0, data.length), 12 + data.length);
  return out;
}

/** HParamsPluginData { session_start_info { hparams map<string, google.protobuf.Value> } }. */
export function encodeHparams(hparams: Record<string, string | number | boolean>): Uint8Array {
  const pbf = new PbfWriter();
  pbf.writeVarintField(1, 0);
  pbf.writeMessage(
    3,
    (h: Record<string, string | number | boolean>, w: PbfWriter) => {
      for (const [key, value] of Object.entries(h)) {
        w.writeMessage(
          1,
          (_: unknown, ew: PbfWriter) => {
            ew.writeStringField(1, key);
            ew.writeMessage(
              2,
              (__: unknown, vw: PbfWriter) => {
                if (typeof value === 'number') vw.writeDoubleField(2, value);
                else if (typeof value === 'string') vw.writeStringField(3, value);
                else vw.writeBooleanField(4, value);
              },
              null,
            );
          },
          null,
        );
      }
    },
    hparams,
  );
  return pbf.finish();
}
