// A trivial dynamic resource for the engine smoke test: it proves that the
// real CLI, the dynamic-provider plugin and Node.js 22 work together.
import * as pulumi from "@pulumi/pulumi";

const smokeProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: { value: string }) {
    return { id: `smoke-${inputs.value}`, outs: { value: inputs.value, computed: inputs.value } };
  },
  async read(id: string, props: { value: string }) {
    return { id, props };
  },
  async diff(_id: string, olds: { value: string }, news: { value: string }) {
    return { changes: olds.value !== news.value };
  },
  async update(_id: string, _olds: { value: string }, news: { value: string }) {
    return { outs: { value: news.value, computed: news.value } };
  },
  async delete() {},
};

export class Smoke extends pulumi.dynamic.Resource {
  declare readonly value: pulumi.Output<string>;
  /** Set by create, so unknown during a preview that creates the resource. */
  declare readonly computed: pulumi.Output<string>;
  constructor(name: string, args: { value: pulumi.Input<string> }, opts?: pulumi.CustomResourceOptions) {
    super(smokeProvider, name, { value: args.value, computed: undefined }, opts, "nftsg-smoke", "Smoke");
  }
}
