import { createParser, walkTree as walk } from '../parsing/treeSitter';

/** The command-line arguments a Python training program declares through HfArgumentParser dataclasses. */
export interface ProgramArguments {
  /** Field names of every @dataclass in the file. */
  fields: Set<string>;
  /** A dataclass extends transformers' TrainingArguments, so its fields are accepted too. */
  extendsTrainingArguments: boolean;
  usesHfArgumentParser: boolean;
  /** Keyword arguments passed to from_pretrained calls (e.g. init_vision), for SCRIPT-INITVISION. */
  fromPretrainedKeywords: Set<string>;
  /** Parameter names of a `def training_step(...)` override, if the file has one (SCRIPT-TRAINER-VERSION). */
  trainingStepParams?: string[];
  /** 0-based line of that def. */
  trainingStepLine?: number;
}

/** Reads the dataclass fields of a finetune.py with tree-sitter-python. */
export async function readProgramArguments(text: string): Promise<ProgramArguments> {
  const parser = await createParser('python');
  const tree = parser.parse(text);
  if (!tree) throw new Error('tree-sitter returned no tree for the Python file');
  const result: ProgramArguments = { fields: new Set(), extendsTrainingArguments: false, usesHfArgumentParser: false, fromPretrainedKeywords: new Set() };
  try {
    walk(tree.rootNode, (node) => {
      if (node.type === 'identifier' && node.text === 'HfArgumentParser') result.usesHfArgumentParser = true;
      if (node.type === 'call') {
        const fn = node.childForFieldName('function');
        if (fn?.type === 'attribute' && fn.childForFieldName('attribute')?.text === 'from_pretrained') {
          for (const arg of node.childForFieldName('arguments')?.namedChildren ?? []) {
            if (arg?.type === 'keyword_argument') result.fromPretrainedKeywords.add(arg.childForFieldName('name')?.text ?? '');
          }
        }
      }
      if (node.type === 'function_definition' && node.childForFieldName('name')?.text === 'training_step') {
        const params = node.childForFieldName('parameters');
        result.trainingStepParams = (params?.namedChildren ?? []).map((p) => {
          if (!p) return '';
          if (p.type === 'identifier') return p.text;
          return (p.childForFieldName('name') ?? p.namedChild(0))?.text ?? p.text;
        });
        result.trainingStepLine = node.startPosition.row;
      }
      if (node.type !== 'decorated_definition') return;
      const isDataclass = node.namedChildren.some((c) => c?.type === 'decorator' && /dataclass/.test(c.text));
      const cls = node.childForFieldName('definition');
      if (!isDataclass || cls?.type !== 'class_definition') return;
      if (/TrainingArguments/.test(cls.childForFieldName('superclasses')?.text ?? '')) result.extendsTrainingArguments = true;
      for (const statement of cls.childForFieldName('body')?.namedChildren ?? []) {
        const assignment = statement?.type === 'expression_statement' ? statement.namedChild(0) : undefined;
        if (assignment?.type !== 'assignment') continue;
        const left = assignment.childForFieldName('left');
        if (left?.type === 'identifier' && assignment.childForFieldName('type')) result.fields.add(left.text);
      }
    });
    return result;
  } finally {
    tree.delete();
    parser.delete();
  }
}
