// Embed (pretrained backbones only) and train the fold models as parallel tasks.
include { EMBED } from '../../../modules/local/embed'
include { TRAIN } from '../../../modules/local/train'

workflow TRAIN_CV {
    take:
    proteins   // channel: proteins.parquet
    folds      // channel: folds.parquet
    test       // channel: test proteins to embed as well; may be empty
    backbone   // value: cnn, proteinbert, birnn (from scratch), esm2, esm1b or prott5
    checkpoint // channel: pretrained weights folder, or a value channel of [] (from scratch)
    n_folds    // value: number of folds (one training task each)
    finetune   // value: true to give the weights to training too (LoRA fine-tuning)

    main:
    // Backbones trained from scratch on residue tokens (locflow.models.registry): no embeddings.
    def from_scratch = ['cnn', 'proteinbert', 'birnn'].contains(backbone)
    ch_to_embed = proteins.map { p -> [[id: 'train'], p] }
        .mix(test.map { t -> [[id: 'test'], t] })
        .filter { _meta, _p -> !from_scratch }
    EMBED(ch_to_embed, backbone, checkpoint)

    // A from-scratch backbone learns from residue tokens: it has no embeddings ([] in their slot).
    ch_train_embeddings = from_scratch
        ? channel.value([])
        : EMBED.out.embeddings.filter { meta, _h5 -> meta.id == 'train' }.map { _meta, h5 -> h5 }
    ch_test_embeddings = from_scratch
        ? channel.value([])
        : EMBED.out.embeddings.filter { meta, _h5 -> meta.id == 'test' }.map { _meta, h5 -> h5 }

    ch_train = proteins.combine(folds).combine(ch_train_embeddings.map { h5 -> [h5] })
    TRAIN(ch_train, (0..<n_folds).toList(), backbone, finetune ? checkpoint : channel.value([]))

    emit:
    models           = TRAIN.out.model.collect() // value: the fold<k> folders
    train_embeddings = ch_train_embeddings        // channel: train embeddings.h5, or []
    test_embeddings  = ch_test_embeddings         // channel: test embeddings.h5, or []
}
